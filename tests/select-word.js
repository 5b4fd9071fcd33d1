// Selects the first occurrence of `word` in the text under `root`, as a reader's drag would; returns
// whether it was found. Shared by the widget tests and the end-to-end tests (a function body: `root`, `word`).
const walker = document.createTreeWalker(root, NodeFilter.SHOW_TEXT);
for (let node = walker.nextNode(); node; node = walker.nextNode()) {
  const at = node.data.indexOf(word);
  if (at < 0) continue;
  const range = document.createRange();
  range.setStart(node, at);
  range.setEnd(node, at + word.length);
  getSelection().removeAllRanges();
  getSelection().addRange(range);
  return true;
}
return false;
