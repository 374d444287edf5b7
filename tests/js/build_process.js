// The official openEO JavaScript client against a running back-end, as a web client uses
// it: list the processes, build load_collection -> ndvi -> save_result with the builder
// (which refuses processes the listing lacks) and have the back-end validate the graph.
//
// Usage: node build_process.js <back-end URL> <user> <password> <collection id>
// Prints {"listed": [process ids], "process": {...}, "errors": [...]} as JSON.
const { OpenEO } = require("@openeo/js-client");

async function main([url, user, password, collection]) {
  const connection = await OpenEO.connect(url);
  await connection.authenticateBasic(user, password);
  const listing = await connection.listProcesses();
  const builder = await connection.buildProcess("ndvi_map");
  const cube = builder.load_collection(collection, null, null, ["B04", "B08"]);
  const ndvi = builder.ndvi(cube, "B08", "B04");
  const result = builder.save_result(ndvi, "GTiff");
  // Given the result node, the client marks it as the graph's result.
  const errors = await connection.validateProcess(result);
  const process = builder.toJSON();
  const listed = listing.processes.map((spec) => spec.id);
  console.log(JSON.stringify({ listed, process, errors }));
}

main(process.argv.slice(2)).catch((error) => {
  console.error(error.stack || String(error));
  process.exit(1);
});
