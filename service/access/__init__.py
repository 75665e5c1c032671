"""Who may see what: the organiser's API key sees all, a participant's token one organisation."""
