"""save_result and the output file formats."""
