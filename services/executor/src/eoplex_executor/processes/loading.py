"""load_collection: reads the needed windows of a collection's assets into a lazy raster cube."""
