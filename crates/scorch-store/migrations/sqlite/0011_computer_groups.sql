-- Computer groups (global settings): a name and its hosts, a JSON array of strings in their order.
-- `{{ group.NAME }}` in a host property runs the activity once per host.
CREATE TABLE computer_groups (
    name TEXT PRIMARY KEY NOT NULL,
    hosts TEXT NOT NULL
);
