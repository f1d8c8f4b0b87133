/** skiff's version, as `--version`, `info` and the Engine API's /version report it. */
export const VERSION = '0.1.0';
