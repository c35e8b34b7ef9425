// Login for the editor, the HTTP endpoints and the dashboard started by
// `npm start`: no default password. The password comes from the environment
// (IPS_ADMIN_PASSWORD, user IPS_ADMIN_USER, default 'admin') or is generated
// at first start, printed once, and only its bcrypt hash is kept.
'use strict';
const fs = require('fs');
const path = require('path');
const crypto = require('crypto');
const bcrypt = require('bcryptjs');

const USER_RE = /^[A-Za-z0-9_.-]{1,32}$/;

/** Load or create the credentials; returns { user, hash, generatedPassword? }. */
function loadCredentials(userDir, env = process.env) {
  const file = path.join(userDir, 'ips-auth.json');
  const user = env.IPS_ADMIN_USER || 'admin';
  if (!USER_RE.test(user)) throw new Error(`IPS_ADMIN_USER '${user}' must be 1-32 letters, digits, '_', '.' or '-'`);
  if (env.IPS_ADMIN_PASSWORD) {
    if (env.IPS_ADMIN_PASSWORD.length < 8) throw new Error('IPS_ADMIN_PASSWORD must be at least 8 characters');
    return { user, hash: bcrypt.hashSync(env.IPS_ADMIN_PASSWORD, 10) };
  }
  try {
    const saved = JSON.parse(fs.readFileSync(file, 'utf8'));
    if (saved && typeof saved.hash === 'string' && USER_RE.test(saved.user)) return { user: saved.user, hash: saved.hash };
  } catch {
    // first start: no file yet
  }
  const password = crypto.randomBytes(12).toString('base64url');
  const hash = bcrypt.hashSync(password, 10);
  fs.writeFileSync(file, JSON.stringify({ user, hash }) + '\n', { mode: 0o600 });
  return { user, hash, generatedPassword: password };
}

/** Parse an HTTP Basic Authorization header → { user, pass } or null. */
function parseBasic(header) {
  if (typeof header !== 'string' || !header.startsWith('Basic ')) return null;
  const text = Buffer.from(header.slice(6), 'base64').toString('utf8');
  const colon = text.indexOf(':');
  if (colon < 0) return null;
  return { user: text.slice(0, colon), pass: text.slice(colon + 1) };
}

/**
 * Node-RED settings fragments that put every door behind the same login:
 * adminAuth (editor and admin API), httpNodeAuth (HTTP-in endpoints and the
 * dashboard pages) and the dashboard's socket.io handshake, which bypasses
 * Express and would otherwise let anyone press the block switches.
 * httpNodeAuth is a middleware (Node-RED mounts a function as it is) so the
 * pages and the socket share one check.
 */
function authSettings({ user, hash }) {
  const accepted = new Set(); // headers already checked: bcrypt is slow by design
  const check = (header) => {
    if (accepted.has(header)) return true;
    const creds = parseBasic(header);
    if (!creds || creds.user !== user || !bcrypt.compareSync(creds.pass, hash)) return false;
    if (accepted.size > 100) accepted.clear();
    accepted.add(header);
    return true;
  };
  return {
    adminAuth: { type: 'credentials', users: [{ username: user, password: hash, permissions: '*' }] },
    httpNodeAuth(req, res, next) {
      if (req.method === 'OPTIONS' || check(req.headers.authorization)) return next();
      res.statusCode = 401;
      res.setHeader('WWW-Authenticate', 'Basic realm="Authorization Required"');
      res.end('Unauthorized');
    },
    ui: {
      ioMiddleware(socket, next) {
        if (check(socket.request.headers.authorization)) return next();
        next(new Error('authentication required'));
      },
    },
  };
}

module.exports = { loadCredentials, authSettings, parseBasic };
