// Login for the editor, the HTTP endpoints and the dashboard started by
// `npm start`: no default password. The password comes from the environment
// (IPS_ADMIN_PASSWORD, user IPS_ADMIN_USER, default 'admin') or is generated
// at first start, printed once, and only its bcrypt hash is kept.
'use strict';
const fs = require('fs');
const path = require('path');
const crypto = require('crypto');
const bcrypt = require('bcryptjs');
const { URLSearchParams } = require('url');

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
 * Failed logins slow a client down: after FREE_FAILURES wrong passwords from
 * one address, that address is refused (HTTP 429, Retry-After) for a time
 * that doubles with each further failure, up to MAX_LOCK_S; a right password
 * clears its count. Per client, so a neighbour guessing does not lock the
 * owner out. Addresses are kept for a day after their last failure, at most
 * MAX_CLIENTS of them (oldest dropped first), so a scan of many addresses
 * cannot grow it.
 */
const FREE_FAILURES = 5;
const MAX_LOCK_S = 15 * 60;
const MAX_CLIENTS = 10_000;
const FORGET_MS = 24 * 3600 * 1000;

class LoginThrottle {
  constructor(now = () => Date.now()) {
    this.now = now;
    /** client → { failures, lockedUntil, last } (a Map keeps insertion order: oldest first). */
    this.clients = new Map();
  }

  /** Seconds the client must still wait, or 0. */
  waitSeconds(client) {
    const c = this.clients.get(client);
    if (!c) return 0;
    const left = c.lockedUntil - this.now();
    return left > 0 ? Math.ceil(left / 1000) : 0;
  }

  failed(client) {
    const now = this.now();
    const c = this.clients.get(client);
    const failures = c && now - c.last < FORGET_MS ? c.failures + 1 : 1;
    const over = failures - FREE_FAILURES;
    const lockS = over > 0 ? Math.min(MAX_LOCK_S, 2 ** (over - 1)) : 0;
    this.clients.delete(client);
    this.clients.set(client, { failures, lockedUntil: now + lockS * 1000, last: now });
    if (this.clients.size > MAX_CLIENTS) this.clients.delete(this.clients.keys().next().value);
  }

  succeeded(client) {
    this.clients.delete(client);
  }
}

/** Refuse a locked-out client: true when the response was sent. */
function refuseLocked(throttle, client, res) {
  const wait = throttle.waitSeconds(client);
  if (wait === 0) return false;
  res.statusCode = 429;
  res.setHeader('Retry-After', String(wait));
  res.end(`Too many failed logins: try again in ${wait} s`);
  return true;
}

/** The client's address as the socket has it (no proxy headers: those can be forged). */
function clientOf(req) {
  return (req.socket && req.socket.remoteAddress) || 'unknown';
}

/**
 * Node-RED settings fragments that put every door behind the same login:
 * adminAuth (editor and admin API), httpNodeAuth (HTTP-in endpoints and the
 * dashboard pages) and the dashboard's socket.io handshake, which bypasses
 * Express and would otherwise let anyone press the block switches.
 * httpNodeAuth is a middleware (Node-RED mounts a function as it is) so the
 * pages and the socket share one check.
 */
function authSettings({ user, hash }, throttle = new LoginThrottle()) {
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
    // The editor's login (POST /auth/token) is checked here, per client, before Node-RED's
    // own check: Node-RED counts attempts per user name, so after five wrong guesses from
    // anyone it refuses the right password too, for ten minutes (the owner locked out by a
    // neighbour). A wrong password never reaches it; the right one does and gets its token.
    httpAdminMiddleware(req, res, next) {
      if (req.method !== 'POST' || req.path !== '/auth/token') return next();
      const client = clientOf(req);
      if (refuseLocked(throttle, client, res)) return;
      readLoginForm(req, (err, form) => {
        if (err) return next(err);
        if (form.grant_type !== 'password') return next();
        if (form.username === user && typeof form.password === 'string' && bcrypt.compareSync(form.password, hash)) {
          throttle.succeeded(client);
          return next();
        }
        throttle.failed(client);
        res.statusCode = 403;
        res.setHeader('Content-Type', 'application/json');
        res.end(JSON.stringify({ error: 'invalid_grant', error_description: 'Invalid resource owner credentials' }));
      });
    },
    httpNodeAuth(req, res, next) {
      if (req.method === 'OPTIONS') return next();
      const client = clientOf(req);
      // A browser sends no credentials on its first request: only a wrong password counts.
      if (req.headers.authorization === undefined) return challenge(res);
      if (refuseLocked(throttle, client, res)) return;
      if (check(req.headers.authorization)) {
        throttle.succeeded(client);
        return next();
      }
      throttle.failed(client);
      challenge(res);
    },
    ui: {
      ioMiddleware(socket, next) {
        if (check(socket.request.headers.authorization)) return next();
        next(new Error('authentication required'));
      },
    },
  };
}

/**
 * The login form (urlencoded or JSON, at most 16 KiB), parsed as Node-RED's
 * body parser would; it is marked parsed so that parser leaves it as it is.
 */
function readLoginForm(req, done) {
  const chunks = [];
  let size = 0;
  let failed = false;
  req.on('data', (c) => {
    size += c.length;
    if (size > 16384 && !failed) {
      failed = true;
      const err = new Error('login form too large');
      err.status = 413;
      done(err);
    } else chunks.push(c);
  });
  req.on('end', () => {
    if (failed) return;
    const text = Buffer.concat(chunks).toString('utf8');
    let form = {};
    try {
      form = /json/i.test(req.headers['content-type'] || '') ? JSON.parse(text || '{}') : Object.fromEntries(new URLSearchParams(text));
    } catch {
      form = {};
    }
    if (form === null || typeof form !== 'object') form = {};
    req.body = form;
    req._body = true;
    done(null, form);
  });
  req.on('error', (err) => {
    if (!failed) {
      failed = true;
      done(err);
    }
  });
}

function challenge(res) {
  res.statusCode = 401;
  res.setHeader('WWW-Authenticate', 'Basic realm="Authorization Required"');
  res.end('Unauthorized');
}

module.exports = { loadCredentials, authSettings, parseBasic, LoginThrottle };
