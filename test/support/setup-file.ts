// Runs in every test worker before the tests: the local executor needs Promise.withResolvers on node 20.
import '../../core/polyfills.js';
