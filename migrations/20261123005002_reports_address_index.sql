-- "Other cases at this address" on every case page looks reports up by
-- postal code and address line: with the postal code alone the index
-- matched every report of the postal code (hundreds to thousands at a
-- million reports) and each row was read to compare the address. The new
-- index serves both that lookup and the list's postal-code filter, so it
-- replaces the postal-code index.
CREATE INDEX idx_reports_postal_code_address ON reports (postal_code, address_line);
DROP INDEX idx_reports_postal_code ON reports;
