// Bundle the modeler (make assets): index.js with bpmn-js, the properties panel and bpmn-js-differ
// into one script for the browser, webapp/static/vendor/modeler/modeler.js.
//
// The Content-Security-Policy refuses inline style attributes (webapp/security.py), so the few the
// libraries write in their HTML are taken out here: the icons of the align and distribute menus get
// the same look as SVG presentation attributes, and the properties panel's two containers get theirs
// from css/modeler.css. A patch that no longer finds its text stops the build (a library changed).
import { readFile } from 'node:fs/promises';

import * as esbuild from 'esbuild';

const [outfile = 'webapp/static/vendor/modeler/modeler.js'] = process.argv.slice(2);

function presentationAttributes(source) {
  return source.replace(/style="([^"]*)"/g, (whole, css) => css
    .split(';')
    .map((declaration) => declaration.trim())
    .filter(Boolean)
    .map((declaration) => {
      const [name, value] = declaration.split(':').map((part) => part.trim());
      return `${name}="${value}"`;
    })
    .join(' '));
}

function without(...texts) {
  return (source) => texts.reduce((patched, text) => patched.replace(text, ''), source);
}

const PATCHES = [
  { file: /bpmn-js\/lib\/features\/(align|distribute)-elements\/\w+Icons\.js$/, patch: presentationAttributes },
  {
    file: /bpmn-js-properties-panel\/dist\/index\.esm\.js$/,
    patch: without('style="height: 100%" ', 'style="flex: none; height: auto" '),
  },
];

const noInlineStyles = {
  name: 'no-inline-styles',
  setup(build) {
    PATCHES.forEach(({ file, patch }) => {
      build.onLoad({ filter: file }, async (args) => {
        const source = await readFile(args.path, 'utf8');
        const patched = patch(source);
        if (patched === source || /<[^>]*\sstyle="/.test(patched)) {
          throw new Error(`${args.path}: the inline styles to take out are not where they were`);
        }
        return { contents: patched, loader: 'js' };
      });
    });
  },
};

await esbuild.build({
  entryPoints: ['webapp/static/src/modeler/index.js'],
  bundle: true,
  minify: true,
  format: 'iife',
  target: 'es2020',
  logLevel: 'error',
  outfile,
  plugins: [noInlineStyles],
});
