// One place to import the UI toolkit from: Preact, its hooks, and htm bound to Preact's h.
import { h, render, Fragment, createContext, isValidElement } from '../vendor/preact.module.js';
import htm from '../vendor/htm.module.js';

export { h, render, Fragment, createContext, isValidElement };
export {
  useState, useEffect, useRef, useMemo, useCallback, useContext, useReducer,
} from '../vendor/preact-hooks.module.js';

export const html = htm.bind(h);
