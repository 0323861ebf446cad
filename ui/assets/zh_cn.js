// Chinese for the words Streamlit draws itself (toolbar tips, uploader, status, data grid menus).
// Streamlit has no translation: this watches the page and replaces exact English strings listed
// in ui/assets/zh_cn.json ("page"), in text and in the attributes that become tooltips or labels.
// Installed once per browser tab; ui/common.py fills in __ZH__.
(function () {
  if (window.__kjhzZh) return;
  const ZH = __ZH__;
  const TEXT = new Map(Object.entries(ZH.text));
  const PATTERNS = ZH.patterns.map(([re, to]) => [new RegExp(re), to]);
  const ATTRS = ["aria-label", "title", "placeholder", "data-title"];
  window.__kjhzZh = true;

  function zh(s) {
    const t = s.trim();
    if (!t || !/[A-Za-z]/.test(t)) return null;
    let out = TEXT.get(t);
    if (out === undefined) {
      for (const [re, to] of PATTERNS) if (re.test(t)) { out = t.replace(re, to); break; }
    }
    return out === undefined ? null : s.replace(t, out);
  }
  function doText(n) {
    const v = zh(n.nodeValue);
    if (v !== null) n.nodeValue = v;
  }
  function doAttrs(el) {
    for (const a of ATTRS) {
      const v = el.getAttribute(a);
      if (v) { const z = zh(v); if (z !== null) el.setAttribute(a, z); }
    }
  }
  function skip(el) {  // the charts' own text is ours already (and plenty)
    return !el || (el.closest && el.closest(".main-svg"));
  }
  function walk(root) {
    if (root.nodeType === 3) { if (!skip(root.parentElement)) doText(root); return; }
    if (root.nodeType !== 1 || skip(root)) return;
    doAttrs(root);
    const w = document.createTreeWalker(root, NodeFilter.SHOW_ELEMENT | NodeFilter.SHOW_TEXT, {
      acceptNode: (n) => n.nodeType === 1 && n.classList.contains("main-svg")
        ? NodeFilter.FILTER_REJECT : NodeFilter.FILTER_ACCEPT });
    for (let n = w.nextNode(); n; n = w.nextNode()) n.nodeType === 3 ? doText(n) : doAttrs(n);
  }
  new MutationObserver((records) => {
    for (const r of records) {
      if (r.type === "childList") r.addedNodes.forEach(walk);
      else if (r.type === "characterData") { if (!skip(r.target.parentElement)) doText(r.target); }
      else if (r.type === "attributes" && !skip(r.target)) doAttrs(r.target);
    }
  }).observe(document.body, { subtree: true, childList: true, characterData: true,
                              attributes: true, attributeFilter: ATTRS });
  walk(document.body);
})();
