"""Math, comparison and logic processes on numbers, arrays and cube values."""
