"""Domain types: exact money, accounts, invoices, payments, receipts. No I/O, no Qt."""
