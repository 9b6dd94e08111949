"""Bank-data providers behind one interface (`base.Provider`): Plaid and Belvo."""
