-- The map (/bo/cartographie/donnees) asks for the reports inside a box. With a
-- territory chosen, idx_reports_territory_geo serves it; a national view (super
-- admin, no territory) zoomed in on a city would otherwise scan every report:
-- this index reads the box's latitude range only.
CREATE INDEX idx_reports_geo ON reports (latitude, longitude);
