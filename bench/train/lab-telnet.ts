/**
 * The telnet target of the training lab, run inside its network namespace by
 * lab.ts (`node lab-telnet.js HOST PORT USER PASSWORD`): a login prompt as a
 * telnet server gives one (WILL ECHO, WILL SUPPRESS-GO-AHEAD, "login:",
 * "Password:", a second's delay and "Login incorrect" after a wrong password,
 * three tries per connection as login(1) allows), and for the right password
 * a shell prompt that answers every command with "not found" until `exit`.
 * Why not inetutils' telnetd: it waits for answers to its terminal-type
 * option requests before prompting, and hydra's telnet module never sends
 * them, so each try hangs until hydra's timeout. Nothing is executed.
 */
import net from 'node:net';

const IAC = 255;
const SB = 250;
const SE = 240;
const TRIES = 3;
const FAIL_DELAY_MS = 1000;

function session(sock: net.Socket, user: string, password: string): void {
  let state: 'login' | 'password' | 'wait' | 'shell' = 'login';
  let line = '';
  let name = '';
  let tries = 0;
  let iac = 0; // bytes of a telnet command still to skip
  let sub = false;
  sock.on('error', () => undefined);
  sock.setTimeout(30_000, () => sock.destroy());
  sock.write(Buffer.from([IAC, 251, 1, IAC, 251, 3])); // WILL ECHO, WILL SGA
  sock.write('\r\nlab-gateway login: ');
  const onLine = (text: string): void => {
    if (state === 'login') {
      name = text;
      state = 'password';
      sock.write('Password: ');
    } else if (state === 'password') {
      state = 'wait';
      if (name === user && text === password) {
        state = 'shell';
        sock.write('\r\nLast login: Thu Dec  3 09:12:44 on pts/0\r\n$ ');
        return;
      }
      setTimeout(() => {
        tries++;
        if (tries >= TRIES) return void sock.end('\r\nLogin incorrect\r\n');
        state = 'login';
        sock.write('\r\nLogin incorrect\r\nlab-gateway login: ');
      }, FAIL_DELAY_MS);
    } else if (state === 'shell') {
      if (text === 'exit') return void sock.end('logout\r\n');
      sock.write(`${text ? `-sh: ${text.split(' ')[0]}: not found\r\n` : ''}$ `);
    }
  };
  sock.on('data', (buf: Buffer) => {
    for (const b of buf) {
      if (sub) {
        if (b === SE) sub = false;
        continue;
      }
      if (iac > 0) {
        iac--;
        if (iac === 1 && b === SB) {
          sub = true;
          iac = 0;
        } else if (iac === 1 && b < 251) iac = 0; // a two-byte command (IAC NOP, ...)
        continue;
      }
      if (b === IAC) {
        iac = 2;
        continue;
      }
      if (b === 13 || b === 10) {
        if (b === 13 || line) onLine(line);
        line = '';
        continue;
      }
      if (b >= 32 && b < 127) line += String.fromCharCode(b);
    }
  });
}

function serve(host: string, port: number, user: string, password: string): void {
  const server = net.createServer((sock) => session(sock, user, password));
  server.listen(port, host, () => process.stdout.write(`listening ${host}:${port}\n`));
  process.on('SIGTERM', () => process.exit(0));
}

if (require.main === module) serve(process.argv[2], Number(process.argv[3]), process.argv[4], process.argv[5]);
