// Runs in every test worker before the tests: the local executor needs Promise.withResolvers on node 20.
import '../../core/polyfills.js';

// The AWS SDK warns on node 20, once per worker, that its 2027 releases need node 22: the same
// notice dozens of times in a test run, about versions the lockfile does not install. Noise here;
// `npm start` still shows it (docs/configuration.md, Node.js versions).
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
