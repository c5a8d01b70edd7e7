"""What keeps a notice from being sent: silences, inhibition, acknowledgements, recurring schedules."""
