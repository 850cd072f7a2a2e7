"""Campaigns: what people sign (sign-on letters and petitions), and their signatures."""
