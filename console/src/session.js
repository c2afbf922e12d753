// Who is signed in: the session context, and GET /api/v1/me.

import { api } from './api.js';
import { createContext, useContext } from './html.js';

export const SessionContext = createContext({ me: null });

/** { me: {name, admin, grants}, signOut } of the signed-in user. */
export const useSession = () => useContext(SessionContext);

/**
 * The user behind `token` (default: the stored one). A 401 is thrown to the caller rather than
 * ending the session, so sign-in can say the token is wrong.
 */
export async function fetchMe(token) {
  return api.get('/api/v1/me', undefined, { auth: false, token });
}

/** The highest role the user has anywhere: viewer, operator, author or admin. */
export function highestRole(me) {
  if (!me) return null;
  if (me.admin) return 'admin';
  const order = ['viewer', 'operator', 'author', 'admin'];
  let best = -1;
  for (const g of me.grants || []) best = Math.max(best, order.indexOf(g.role));
  return best >= 0 ? order[best] : null;
}
