"""The engine: data cubes, the execution environment, the graph evaluator, the process
registry, the pixel meter and the executor's settings. It imports no other room."""
