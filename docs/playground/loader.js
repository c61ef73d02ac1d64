// The docs site loads this small script on every page (typedoc's `customJs`, copied to
// assets/custom.js). Only the playground page has a #playground-root element; there it loads the
// playground's bundle (built by docs/scripts/build-playground.mjs next to this file, in
// assets/playground/), so other pages never download the simulator.
/* global document */
(function startPlaygroundWhereWanted() {
  var root = document.getElementById('playground-root');
  if (root === null) return;
  var bundle = new URL('playground/playground.js', document.currentScript.src);
  import(bundle.href)
    .then(function (module) {
      return module.mountPlayground(root);
    })
    .catch(function (error) {
      root.setAttribute('data-error', String(error));
      root.textContent = 'The playground could not start: ' + String(error);
    });
})();
