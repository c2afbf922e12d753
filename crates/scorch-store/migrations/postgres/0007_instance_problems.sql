-- Why an instance failed where no activity run shows it (a link condition that could not be
-- evaluated): a JSON list of lines, NULL when there were none.
ALTER TABLE instances ADD COLUMN problems text;
