/**
 * Child process for tests/lib/net/conntrack-poll.test.ts: a ConntrackPoller
 * run inside a network namespace (ip netns exec), what it reports written as
 * JSON lines on stdout. stdin takes one JSON command per line: {"poll":true}
 * (answered with {"event":"polled"} once the poll is over), {"configure":
 * {...}} (a settings patch: "configured" or "refused"), {"reset":true},
 * {"close":true}. A line with several commands runs them in that order in
 * one go (a poll then starts and the configure comes while it runs). After close the process has nothing left to wait for and
 * exits by itself, unless the poller left a timer or a child process running.
 * argv: the settings patch to start with (JSON).
 */
import { createInterface } from 'node:readline';
import { applySettings, defaultsOf } from '../../lib/base/settings';
import { ConntrackPoller, conntrackPollSchema } from '../../lib/net/conntrack-poll';

const write = (event: Record<string, unknown>): void => void process.stdout.write(`${JSON.stringify(event)}\n`);

let settings = applySettings(conntrackPollSchema, defaultsOf(conntrackPollSchema), JSON.parse(process.argv[2] ?? '{}'));
const poller = new ConntrackPoller(settings, 'under test', {
  report: (r) => write({ event: 'report', ...r }),
  error: (err) => write({ event: 'error', message: err.message }),
  warn: (text) => write({ event: 'warn', text }),
  log: (text) => write({ event: 'log', text }),
});
void poller.start().then(() => write({ event: 'started' }));

const commands = createInterface({ input: process.stdin });
commands.on('line', (line) => {
  const cmd = JSON.parse(line) as { poll?: true; configure?: Record<string, unknown>; reset?: true; close?: true };
  if (cmd.poll) void poller.poll().then(() => write({ event: 'polled' }));
  if (cmd.configure) {
    try {
      const next = applySettings(conntrackPollSchema, settings, cmd.configure);
      poller.configure(next);
      settings = next;
      write({ event: 'configured' });
    } catch (err) {
      write({ event: 'refused', message: (err as Error).message });
    }
  }
  if (cmd.reset) poller.reset();
  if (cmd.close) {
    poller.close();
    commands.close();
    process.stdin.destroy();
    write({ event: 'closed' });
  }
});
