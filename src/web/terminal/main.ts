/** Entry of index.html: start the terminal page, wire the header's Load button. */
import { startTerminalPage } from './page.ts';

const page = startTerminalPage(document.body);
document.querySelector('#load-button')?.addEventListener('click', () => void page.execute('load'));
(globalThis as { skiffPage?: unknown }).skiffPage = page;
