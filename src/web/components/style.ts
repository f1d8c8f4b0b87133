/** The component's shadow-DOM style: a small dark terminal that fits in a docs column. */
export const componentStyle = `
:host { display: block; margin: 1em 0; border-radius: 8px; overflow: hidden; background: #101418; color: #d8dee9;
  font: 13px/1.45 ui-monospace, SFMono-Regular, Menlo, Consolas, monospace; border: 1px solid #2a3038; }
.bar { display: flex; align-items: center; gap: .5em; padding: .4em .6em; background: #1b2128; border-bottom: 1px solid #2a3038; }
.image { color: #88c0d0; white-space: nowrap; }
.prompt { flex: 1; display: flex; align-items: center; gap: .3em; color: #a3be8c; }
.cmd { flex: 1; min-width: 4em; background: transparent; border: 0; color: inherit; font: inherit; outline: none; }
.cmd:focus { border-bottom: 1px solid #4c566a; }
.run { font: inherit; background: #5e81ac; color: #fff; border: 0; border-radius: 4px; padding: .15em .8em; cursor: pointer; }
.run:disabled { opacity: .5; cursor: progress; }
.out { margin: 0; padding: .5em .7em; min-height: 2.9em; max-height: 18em; overflow: auto; white-space: pre-wrap; word-break: break-word; }
.out .err { color: #bf616a; }
.trimmed { padding: .3em .7em 0; font-size: 11px; opacity: .7; font-style: italic; }
.status { padding: 0 .7em .3em; font-size: 11px; opacity: .7; min-height: 1.2em; }
.status.ok { color: #a3be8c; }
.status.fail { color: #bf616a; }
.preview { border-top: 1px solid #2a3038; }
.preview .link { padding: .3em .7em; font-size: 11px; word-break: break-all; }
.preview a { color: #88c0d0; }
.preview iframe { display: block; width: 100%; height: 16em; border: 0; background: #fff; }
`;
