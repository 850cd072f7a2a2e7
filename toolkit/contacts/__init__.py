"""Member states and their national contact points."""
