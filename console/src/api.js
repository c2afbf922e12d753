// The web service client: configuration, the session token, one fetch wrapper that turns the
// API's error bodies into ApiError, and a timing record of every call (window.scorchTimings).

const TOKEN_KEY = 'scorch.token';

let baseUrl = '';
let unauthorizedHandler = () => {};

window.scorchTimings = window.scorchTimings || [];

/** An API failure: HTTP status (0 when the service cannot be reached), stable code, message. */
export class ApiError extends Error {
  constructor(status, code, message) {
    super(message);
    this.status = status;
    this.code = code;
  }
}

/** Reads /config.json from the console's own origin; remembers where the web service is. */
export async function loadConfig() {
  let res;
  try {
    res = await fetch('/config.json', { cache: 'no-store' });
  } catch (e) {
    throw new ApiError(0, 'network', `Cannot load /config.json: ${e.message}`);
  }
  if (!res.ok) throw new ApiError(res.status, 'config', `Cannot load /config.json (HTTP ${res.status}).`);
  const config = await res.json();
  if (!config.web_service_url) throw new ApiError(0, 'config', '/config.json names no web_service_url.');
  baseUrl = String(config.web_service_url).replace(/\/+$/, '');
  return config;
}

export function webServiceUrl() {
  return baseUrl;
}

export function getToken() {
  try {
    return localStorage.getItem(TOKEN_KEY) || '';
  } catch {
    return '';
  }
}

export function setToken(token) {
  localStorage.setItem(TOKEN_KEY, token);
}

export function clearToken() {
  localStorage.removeItem(TOKEN_KEY);
}

/** Called (once per failing request) when a request that carried the token gets a 401. */
export function onUnauthorized(handler) {
  unauthorizedHandler = handler;
}

/** For callers that talk to the service without request() (the event stream). */
export function reportUnauthorized(error) {
  unauthorizedHandler(error);
}

function record(method, path, query, ms, status) {
  window.scorchTimings.push({ path, ms: Math.round(ms * 10) / 10, status, method, query });
}

/** Builds `path?query`, leaving out empty values. */
export function withQuery(path, query) {
  const params = new URLSearchParams();
  for (const [key, value] of Object.entries(query || {})) {
    if (value !== undefined && value !== null && value !== '') params.set(key, String(value));
  }
  const qs = params.toString();
  return qs ? `${path}?${qs}` : path;
}

/**
 * One call to the web service. `auth: false` keeps a 401 from ending the session (sign-in
 * uses it); `token` overrides the stored one.
 */
export async function request(method, path, { query, body, signal, auth = true, token } = {}) {
  const url = baseUrl + withQuery(path, query);
  const headers = { Accept: 'application/json' };
  const bearer = token ?? getToken();
  if (bearer) headers.Authorization = `Bearer ${bearer}`;
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  const qs = url.includes('?') ? url.slice(url.indexOf('?') + 1) : '';
  const started = performance.now();
  let res;
  let text;
  try {
    res = await fetch(url, {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
      signal,
      cache: 'no-store',
    });
    text = await res.text();
  } catch (e) {
    record(method, path, qs, performance.now() - started, 0);
    if (e.name === 'AbortError') throw e;
    throw new ApiError(0, 'network', `Cannot reach the web service at ${baseUrl}. Is it running?`);
  }
  record(method, path, qs, performance.now() - started, res.status);
  let data = null;
  if (text) {
    try {
      data = JSON.parse(text);
    } catch {
      data = null;
    }
  }
  if (!res.ok) {
    const detail = data && data.error ? data.error : {};
    const message = detail.message || `${method} ${path} failed (HTTP ${res.status}).`;
    const error = new ApiError(res.status, detail.code || `http_${res.status}`, message);
    if (res.status === 401 && auth && bearer) unauthorizedHandler(error);
    throw error;
  }
  return data;
}

export const api = {
  get: (path, query, options) => request('GET', path, { ...options, query }),
  post: (path, body, options) => request('POST', path, { ...options, body }),
  put: (path, body, options) => request('PUT', path, { ...options, body }),
  del: (path, options) => request('DELETE', path, options),
};

/** Path segment escaping for ids and names in URLs. */
export const seg = (value) => encodeURIComponent(value);
