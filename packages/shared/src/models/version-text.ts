/**
 * A version as a path, a query or a request names it: a version directory's name, digits without
 * a leading zero. Every route reads a version through it, so `01`, `1.0`, `1e0` or `0x1` name no
 * version anywhere (404), rather than version 1 on some routes and none on others.
 */
export const VERSION_TEXT = /^[1-9][0-9]{0,8}$/;
