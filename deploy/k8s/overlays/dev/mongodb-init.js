// Run by the mongo image once, when it initialises an empty data volume, as the root
// user: each service's user, allowed readWrite on its own database only, with its
// password from the Secret mongodb-users (environment EOPLEX_<SERVICE>_PASSWORD).
for (const service of ["auth", "data-discovery", "processes", "jobs"]) {
  const name = service.replace("-", "_");
  db.getSiblingDB("admin").createUser({
    user: service,
    pwd: process.env[`EOPLEX_${name.toUpperCase()}_PASSWORD`],
    roles: [{role: "readWrite", db: `eoplex_${name}`}],
  });
}
