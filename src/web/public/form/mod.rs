//! The public reporting form (signalement): multi-step, server-rendered,
//! usable without JavaScript.

use crate::web::routes::Routes;

/// Adds the form's routes to the site.
pub fn register(routes: Routes) -> Routes {
    routes
}
