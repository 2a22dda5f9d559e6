"""The embedded sandbox: real local servers standing in for Caselle, Invoice Cloud, SFTP and SMTP."""
