//! The map's geometry: the bounding box and zoom a map view asks for, checked
//! before any query runs, and the grid the server clusters reports on.
//!
//! A view is accepted when it overlaps France (metropolitan or overseas
//! départements) and is not larger than a screen could show at its zoom:
//! a client cannot make the server aggregate the whole world at street
//! level.

/// West, south, east, north, in degrees (WGS 84).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct BBox {
    pub west: f64,
    pub south: f64,
    pub east: f64,
    pub north: f64,
}

/// Zoom levels the map offers (Leaflet zoom).
pub const MIN_ZOOM: u8 = 2;
pub const MAX_ZOOM: u8 = 19;
/// From this zoom on, reports are sent one by one.
pub const POINTS_ZOOM: u8 = 14;
/// Below [`POINTS_ZOOM`], a view holding at most this many reports is still
/// sent point by point (the client clusters them).
pub const FEW_POINTS: i64 = 500;
/// At most this many points in one answer.
pub const MAX_POINTS: i64 = 5_000;

/// The French territories (with a margin) a view must overlap.
const FRANCE: [BBox; 6] = [
    // Metropolitan France and Corsica.
    BBox {
        west: -6.0,
        south: 41.0,
        east: 10.0,
        north: 51.5,
    },
    // Guadeloupe and Martinique.
    BBox {
        west: -62.0,
        south: 14.0,
        east: -60.5,
        north: 16.8,
    },
    // Guyane.
    BBox {
        west: -54.8,
        south: 2.0,
        east: -51.0,
        north: 6.0,
    },
    // La Réunion.
    BBox {
        west: 55.0,
        south: -21.6,
        east: 56.0,
        north: -20.7,
    },
    // Mayotte.
    BBox {
        west: 44.8,
        south: -13.2,
        east: 45.5,
        north: -12.5,
    },
    // Saint-Pierre-et-Miquelon.
    BBox {
        west: -56.6,
        south: 46.6,
        east: -56.0,
        north: 47.2,
    },
];

impl BBox {
    fn overlaps(&self, other: &BBox) -> bool {
        self.west <= other.east
            && other.west <= self.east
            && self.south <= other.north
            && other.south <= self.north
    }

    pub fn width(&self) -> f64 {
        self.east - self.west
    }

    pub fn height(&self) -> f64 {
        self.north - self.south
    }
}

/// Degrees a 256-pixel tile spans at this zoom.
fn tile_degrees(zoom: u8) -> f64 {
    360.0 / f64::from(1u32 << zoom)
}

/// Up to this zoom (a region or more on screen), reports are grouped by
/// territory: one group per département is what a national view shows, and
/// grouping by an indexed column costs half a grid over a million reports.
pub const TERRITORY_ZOOM: u8 = 7;

/// How a zoomed-out view groups its reports.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Grouping {
    /// One group per territory.
    Territory,
    /// A grid of square cells this many degrees wide.
    Grid(f64),
}

/// The grouping of a zoomed-out view at this zoom.
pub fn grouping(zoom: u8) -> Grouping {
    if zoom <= TERRITORY_ZOOM {
        Grouping::Territory
    } else {
        Grouping::Grid(cell_size(zoom))
    }
}

/// Side, in degrees, of the grid cells clusters are computed on: about 64
/// pixels at this zoom.
pub fn cell_size(zoom: u8) -> f64 {
    tile_degrees(zoom) / 4.0
}

/// Parses `zoom` and `bbox=west,south,east,north` and checks them; the
/// error is a French sentence for a 400 answer.
pub fn parse_view(bbox: Option<&str>, zoom: Option<&str>) -> Result<(BBox, u8), String> {
    let zoom_text = zoom
        .map(str::trim)
        .filter(|z| !z.is_empty())
        .ok_or("Le niveau de zoom (zoom) est obligatoire.".to_owned())?;
    let zoom: u8 = zoom_text
        .parse()
        .ok()
        .filter(|z| (MIN_ZOOM..=MAX_ZOOM).contains(z))
        .ok_or_else(|| {
            format!("Le zoom « {zoom_text} » doit être un entier entre {MIN_ZOOM} et {MAX_ZOOM}.")
        })?;
    let text = bbox
        .map(str::trim)
        .filter(|b| !b.is_empty())
        .ok_or("La zone de la carte (bbox=ouest,sud,est,nord) est obligatoire.".to_owned())?;
    let numbers: Vec<f64> = text
        .split(',')
        .map(|part| part.trim().parse::<f64>())
        .collect::<Result<_, _>>()
        .ok()
        .filter(|n: &Vec<f64>| n.len() == 4 && n.iter().all(|v| v.is_finite()))
        .ok_or_else(|| {
            format!("La zone « {text} » doit contenir quatre nombres : ouest,sud,est,nord.")
        })?;
    let b = BBox {
        west: numbers[0],
        south: numbers[1],
        east: numbers[2],
        north: numbers[3],
    };
    if !(-180.0..=180.0).contains(&b.west)
        || !(-180.0..=180.0).contains(&b.east)
        || !(-90.0..=90.0).contains(&b.south)
        || !(-90.0..=90.0).contains(&b.north)
    {
        return Err(
            "Les coordonnées de la zone sont hors limites (longitude ±180, latitude ±90).".into(),
        );
    }
    if b.west >= b.east || b.south >= b.north {
        return Err("La zone est inversée : l’ouest doit précéder l’est et le sud le nord.".into());
    }
    if !FRANCE.iter().any(|f| b.overlaps(f)) {
        return Err("La zone demandée est en dehors de la France (métropole et outre-mer).".into());
    }
    // A screen of at most 4,096 × 4,096 pixels, and never more than a
    // continent.
    let limit = tile_degrees(zoom) * 16.0;
    if b.width() > limit.min(60.0) || b.height() > limit.min(40.0) {
        return Err(format!(
            "La zone demandée est trop grande pour le zoom {zoom} : rapprochez-vous."
        ));
    }
    Ok((b, zoom))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_view_of_lyon_is_accepted() {
        let (b, z) = parse_view(Some("4.7,45.7,4.95,45.82"), Some("12")).unwrap();
        assert_eq!(z, 12);
        assert_eq!(b.west, 4.7);
        assert!(parse_view(Some("-5,41,10,51"), Some("5")).is_ok());
        // La Réunion.
        assert!(parse_view(Some("55.2,-21.4,55.9,-20.8"), Some("9")).is_ok());
    }

    #[test]
    fn bad_views_are_refused_in_french() {
        let err = |b: &str, z: &str| parse_view(Some(b), Some(z)).unwrap_err();
        assert!(err("4.7,45.7,4.95", "12").contains("quatre nombres"));
        assert!(err("a,b,c,d", "12").contains("quatre nombres"));
        assert!(err("4.95,45.7,4.7,45.82", "12").contains("inversée"));
        assert!(err("-74.1,40.6,-73.8,40.9", "12").contains("en dehors de la France"));
        assert!(err("-5,41,10,51", "14").contains("trop grande"));
        assert!(err("-170,-80,170,80", "3").contains("trop grande"));
        assert!(err("4.7,45.7,4.95,200", "12").contains("hors limites"));
        assert!(err("4.7,45.7,4.95,45.82", "30").contains("zoom"));
        assert!(parse_view(None, Some("5")).unwrap_err().contains("bbox"));
        assert!(
            parse_view(Some("4.7,45.7,4.95,45.82"), None)
                .unwrap_err()
                .contains("zoom")
        );
    }

    #[test]
    fn cells_halve_at_each_zoom() {
        assert_eq!(grouping(6), Grouping::Territory);
        assert_eq!(grouping(TERRITORY_ZOOM + 1), Grouping::Grid(cell_size(8)));
        assert_eq!(cell_size(0), 90.0);
        assert_eq!(cell_size(1), 45.0);
        assert!((cell_size(13) - 90.0 / 8192.0).abs() < 1e-12);
    }
}
