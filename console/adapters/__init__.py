"""Adapters to the outside: Caselle Connect (gql), Invoice Cloud (requests), SFTP/FTP, keyring, journal."""
