// HTTPS for `npm start` when Node-RED listens beyond loopback: the login and
// the block switches must not cross the Wi-Fi in clear. The certificate is the
// user's (IPS_TLS_CERT + IPS_TLS_KEY) or one made at first start with openssl
// (self-signed, EC P-256, valid 825 days: the most Apple devices accept for a
// server certificate), for this machine's name and every address it has, and
// kept in the user directory so browsers see the same one after a restart.
'use strict';
const fs = require('fs');
const os = require('os');
const path = require('path');
const crypto = require('crypto');
const net = require('net');
const { execFileSync } = require('child_process');

const NAME_RE = /^[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?(\.[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*$/;

/** subjectAltName entries: the host name, localhost, and every address of every interface (and `host` when it is one). */
function altNames(host) {
  const names = new Set(['DNS:localhost']);
  const hostname = os.hostname();
  if (NAME_RE.test(hostname)) names.add(`DNS:${hostname}`);
  if (NAME_RE.test(host) && !/^[\d.]+$/.test(host)) names.add(`DNS:${host}`);
  for (const list of Object.values(os.networkInterfaces())) {
    for (const a of list || []) {
      // Link-local IPv6 needs a zone id, which certificates cannot name.
      if (a.family === 'IPv6' && a.address.startsWith('fe80')) continue;
      if (net.isIP(a.address)) names.add(`IP:${a.address}`);
    }
  }
  if (net.isIP(host) && host !== '0.0.0.0' && host !== '::') names.add(`IP:${host}`);
  return [...names];
}

/**
 * The certificate and key to serve: { certFile, keyFile, fingerprint, generated }.
 * Throws with a message for the user when they cannot be had.
 */
function ensureCertificate(userDir, host, env = process.env) {
  if (env.IPS_TLS_CERT || env.IPS_TLS_KEY) {
    if (!env.IPS_TLS_CERT || !env.IPS_TLS_KEY) throw new Error('set both IPS_TLS_CERT and IPS_TLS_KEY (PEM files), or neither for a generated certificate');
    const certFile = path.resolve(env.IPS_TLS_CERT);
    const keyFile = path.resolve(env.IPS_TLS_KEY);
    return { certFile, keyFile, fingerprint: fingerprintOf(certFile), generated: false };
  }
  const dir = path.join(userDir, 'tls');
  const certFile = path.join(dir, 'cert.pem');
  const keyFile = path.join(dir, 'key.pem');
  if (fs.existsSync(certFile) && fs.existsSync(keyFile)) return { certFile, keyFile, fingerprint: fingerprintOf(certFile), generated: false };
  fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
  const cn = NAME_RE.test(os.hostname()) ? os.hostname().slice(0, 64) : 'node-red-contrib-ips';
  try {
    execFileSync('openssl', [
      'req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-sha256', '-days', '825', '-nodes',
      '-keyout', keyFile, '-out', certFile, '-subj', `/CN=${cn}/O=node-red-contrib-ips`,
      '-addext', `subjectAltName=${altNames(host).join(',')}`,
      '-addext', 'basicConstraints=critical,CA:FALSE',
      '-addext', 'extendedKeyUsage=serverAuth',
    ], { stdio: ['ignore', 'ignore', 'pipe'] });
  } catch (err) {
    throw new Error(`could not make a certificate with openssl (${err.code === 'ENOENT' ? 'openssl is not installed: apt-get install openssl' : String(err.stderr || err.message).trim()}); or name your own with IPS_TLS_CERT and IPS_TLS_KEY`);
  }
  fs.chmodSync(keyFile, 0o600);
  return { certFile, keyFile, fingerprint: fingerprintOf(certFile), generated: true };
}

function fingerprintOf(certFile) {
  let pem;
  try {
    pem = fs.readFileSync(certFile);
  } catch (err) {
    throw new Error(`cannot read the certificate ${certFile}: ${err.message}`);
  }
  try {
    return new crypto.X509Certificate(pem).fingerprint256;
  } catch (err) {
    throw new Error(`${certFile} is not a PEM certificate: ${err.message}`);
  }
}

module.exports = { ensureCertificate, altNames };
