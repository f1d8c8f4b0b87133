/** Side-effect style imports vite bundles (xterm's stylesheet). */
declare module '*.css';

/** vite: the URL of a bundled worker entry. */
declare module '*?worker&url' {
  const url: string;
  export default url;
}
