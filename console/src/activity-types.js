// How an activity type looks in a graph: its category (a colour) and a short badge label.

const CATEGORIES = {
  control: ['initialize_data', 'return_data', 'invoke_runbook', 'junction'],
  system: ['run_program', 'run_script'],
  files: ['compress_file', 'copy_file', 'create_folder', 'decompress_file', 'delete_file',
    'delete_folder', 'get_file_status', 'move_file', 'rename_file'],
  text: ['append_line', 'delete_line', 'find_text', 'insert_line', 'read_line',
    'search_and_replace_text'],
  utilities: ['compare_values', 'format_date_time', 'generate_random_text', 'get_counter',
    'get_variable', 'map_published_data', 'modify_counter', 'query_json', 'query_xml'],
};

const BY_TYPE = new Map(Object.entries(CATEGORIES).flatMap(([cat, types]) => types.map((t) => [t, cat])));

const LABELS = {
  initialize_data: 'INIT',
  return_data: 'RET',
  invoke_runbook: 'RUN↗',
  junction: 'JCT',
  run_program: 'PROG',
  run_script: 'SCRIPT',
};

/** control, system, files, text, utilities, pack (an integration pack's PACK.ACTIVITY), other. */
export function typeCategory(type) {
  if (BY_TYPE.has(type)) return BY_TYPE.get(type);
  if (String(type).includes('.')) return 'pack';
  if (/monitor/.test(type)) return 'control';
  return 'other';
}

/** A few letters for the badge: known abbreviations, else the initials of the type's words. */
export function typeBadge(type) {
  if (LABELS[type]) return LABELS[type];
  const name = String(type).split('.').pop();
  const initials = name.split(/[_\s-]+/).filter(Boolean).map((w) => w[0]).join('');
  return initials.toUpperCase().slice(0, 4) || '?';
}

/** `search_and_replace_text` → `search and replace text`; packs keep their prefix. */
export function typeLabel(type) {
  return String(type).replace(/_/g, ' ');
}
