/* global db */
// Run by the mongo image once, when it initialises an empty data volume
// (/docker-entrypoint-initdb.d, before authentication is on): the application's own user, which
// may read and write the orders database and nothing else. The credentials come from the env file
// through docker-compose.yml; nothing secret is written here.
const user = process.env.MONGO_APP_USERNAME;
const pwd = process.env.MONGO_APP_PASSWORD;
if (!user || !pwd) throw new Error('MONGO_APP_USERNAME and MONGO_APP_PASSWORD must be set');
db.getSiblingDB('admin').createUser({
  user,
  pwd,
  roles: [{ role: 'readWrite', db: 'orders' }],
});
