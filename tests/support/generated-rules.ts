/** Generated rule-language rule sets for the prefilter test and the benchmark. */

const HEADERS = ['alert http $EXTERNAL_NET any -> $HOME_NET $HTTP_PORTS', 'alert tcp any any -> $HOME_NET 80', 'alert tcp any any -> any any', 'alert udp any any -> any 53'];

/** Rule n: a header of four, a URI or payload content unique to n, a second short content, sometimes a pcre. */
export function generatedRules(count: number): string {
  const lines: string[] = [];
  for (let n = 0; n < count; n++) {
    const head = HEADERS[n % HEADERS.length];
    const body = n % 4 === 0 ? `http.uri; content:"/app${n}/admin.php"; content:"id="; distance:0;` : n % 4 === 3 ? `content:"|00 01|q${n}z";` : `content:"probe-${n}-x"; nocase; content:"HTTP"; ${n % 3 === 0 ? `pcre:"/probe-${n}-x\\d+/i";` : ''}`;
    lines.push(`${head} (msg:"generated ${n}"; flow:to_server; ${body} classtype:web-application-attack; sid:${5_000_000 + n}; rev:1;)`);
  }
  return lines.join('\n');
}
