/** The bad-input table every adapter test runs: [case name, message text]. */
export const BAD_INPUTS: [string, string][] = [
  ['empty', ''],
  ['whitespace only', ' \t\n　 '],
  ['100 000 characters', '夸'.repeat(50_000) + 'a'.repeat(50_000)],
  ['only emoji', '🎉👍🏽👨‍👩‍👧‍👦🇨🇳'],
  ['zero-width and RTL marks', '\u200b\u200c\u200d\u2060\ufeff\u200e\u200f\u202e求夸\u202c'],
  ['control characters', '\u0000\u0001\u0007\u001b[31m\u007f求夸\r\n'],
  ['lone UTF-16 surrogates', '\ud800求\udfff夸\ud83d'],
  ['HTML and script', '<script>alert("x")</script><img src=x onerror=alert(1)> 求夸 &amp; &lt;'],
  ['all trigger words', '求夸夸我求表扬求鼓励'.repeat(50)],
];
