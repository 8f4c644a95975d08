//! The resident's follow-up space (`/suivre-mon-signalement/{code}`).

use crate::web::routes::Routes;

/// Adds the follow-up space's routes to the site.
pub fn register(routes: Routes) -> Routes {
    routes
}
