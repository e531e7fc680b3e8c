// Page components (STYLE §12): the server renders working HTML and marks each component with
// `data-module="name"`; the component's module enhances it. Each entry script registers its
// component here instead of looking up its own elements. Nothing is stored anywhere.

const started = new WeakSet();

/**
 * Call `init(element)` once for each element of `root` marked `data-module="name"`. Module
 * scripts run after the document is parsed, so every server-rendered element is there.
 */
export function initComponents(name, init, root = document) {
  for (const element of root.querySelectorAll(`[data-module="${name}"]`)) {
    if (started.has(element)) continue;
    started.add(element);
    init(element);
  }
}
