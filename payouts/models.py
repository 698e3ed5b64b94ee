# The double-entry ledger (accounts, transactions, entries) and payouts are built by the ledger issue.
