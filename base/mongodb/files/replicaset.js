// Brings this member into the replica set and the set's users up to what
// Key Vault holds. Run by the rs-init container of every MongoDB pod, over
// localhost, again and again: every step checks before it acts.
//
//   member 0, set not initiated  -> initiate a set of itself (localhost exception)
//   primary, no user yet         -> create the root user (localhost exception)
//   member not in the set        -> the primary adds it (as root)
//   always                       -> the application user exists with Key Vault's password
//
// Exit status 0 means this member is PRIMARY or SECONDARY of an initiated set.
const fs = require('fs');
const os = require('os');

const env = process.env;
const secret = (name) => fs.readFileSync('/mnt/secrets-store/' + name, 'utf8').trim();
const member = (i) => `${env.STATEFULSET}-${i}.${env.PEER_DOMAIN}:27017`;
const ordinal = Number(os.hostname().split('-').pop());
const me = member(ordinal);
const root = { user: env.ROOT_USER, pwd: secret(env.ROOT_VAULT_OBJECT) };
const local = db.getSiblingDB('admin');
const hello = () => local.runCommand({ hello: 1 });

function waitFor(what, ok) {
  for (let i = 0; i < 120; i++) {
    if (ok()) return;
    sleep(1000);
  }
  throw new Error('timed out waiting for ' + what);
}

function must(what, res) {
  if (!res.ok) throw new Error(what + ': ' + JSON.stringify(res));
  return res;
}

if (!hello().setName && ordinal === 0) {
  print(`initiating replica set ${env.REPLICA_SET} with ${me}`);
  must('replSetInitiate', local.runCommand({ replSetInitiate: { _id: env.REPLICA_SET, members: [{ _id: 0, host: me }] } }));
  waitFor('this member to become primary', () => hello().isWritablePrimary);
}

// The first user, while the localhost exception lets one be created.
if (hello().isWritablePrimary) {
  try {
    local.auth(root.user, root.pwd);
  } catch (e) {
    print('creating the root user');
    local.createUser({ user: root.user, pwd: root.pwd, roles: [{ role: 'root', db: 'admin' }] });
  }
}

// Everything else as root, against the set.
const seeds = [];
for (let i = 0; i < Number(env.MEMBERS); i++) seeds.push(member(i));
const set = new Mongo(`mongodb://${encodeURIComponent(root.user)}:${encodeURIComponent(root.pwd)}@${seeds.join(',')}/?replicaSet=${env.REPLICA_SET}&authSource=admin`);
const admin = set.getDB('admin');

const conf = must('replSetGetConfig', admin.runCommand({ replSetGetConfig: 1 })).config;
if (!conf.members.some((m) => m.host === me)) {
  print(`adding ${me} to the set`);
  conf.members.push({ _id: Math.max(...conf.members.map((m) => m._id)) + 1, host: me });
  conf.version += 1;
  must('replSetReconfig', admin.runCommand({ replSetReconfig: conf }));
}

const app = set.getDB(env.APP_DATABASE);
const user = { pwd: secret(env.APP_VAULT_OBJECT), roles: [{ role: 'readWrite', db: env.APP_DATABASE }] };
if (app.getUser(env.APP_USER)) {
  app.updateUser(env.APP_USER, user);
} else {
  print(`creating user ${env.APP_USER} on ${env.APP_DATABASE}`);
  app.createUser(Object.assign({ user: env.APP_USER }, user));
}

waitFor('this member to be primary or secondary', () => {
  const h = hello();
  return h.setName === env.REPLICA_SET && (h.isWritablePrimary || h.secondary);
});
print(`${me}: ${hello().isWritablePrimary ? 'PRIMARY' : 'SECONDARY'} of ${env.REPLICA_SET}, users in place`);
