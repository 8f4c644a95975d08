// Back-office map (cartographie): asks /bo/cartographie/donnees for the
// visible box at each move. Zoomed out, the server sends clusters (count +
// extent); zoomed in, or when few reports are visible, it sends the reports
// themselves, clustered on the client by Leaflet.markercluster.
// No inline script or style (CSP): everything is built with the DOM API and
// CSS classes from assets/css/map.css.
(function () {
  "use strict";
  var element = document.getElementById("map");
  if (!element || typeof L === "undefined") {
    return;
  }
  var status = document.getElementById("map-status");
  var STATUS_LABELS = {
    need_validation: "Nouveau",
    active: "En cours",
    closed: "Fermé",
    refused: "Refusé",
    archived: "Archivé"
  };
  var bounds = element.dataset.bounds.split(",").map(Number);
  var map = L.map(element, { minZoom: 3, maxZoom: 19 });
  map.fitBounds([[bounds[1], bounds[0]], [bounds[3], bounds[2]]]);
  L.tileLayer(element.dataset.tiles, {
    maxZoom: 19,
    attribution: "&copy; contributeurs OpenStreetMap"
  }).addTo(map);

  var points = L.markerClusterGroup({ showCoverageOnHover: false });
  var clusters = L.layerGroup();
  map.addLayer(points);
  map.addLayer(clusters);

  function say(text) {
    if (status) {
      status.textContent = text;
    }
  }

  function popupContent(p) {
    var box = document.createElement("div");
    box.className = "app-map-popup";
    var link = document.createElement("a");
    link.href = "/bo/signalements/" + encodeURIComponent(p.uuid);
    link.textContent = "Signalement " + p.reference;
    link.className = "app-map-popup__link";
    box.appendChild(link);
    var address = document.createElement("p");
    address.textContent = p.address;
    box.appendChild(address);
    var facts = document.createElement("p");
    var severity = p.severity === null ? "—" : String(p.severity).replace(".", ",");
    facts.textContent = (STATUS_LABELS[p.status] || p.status) + " · criticité " + severity;
    box.appendChild(facts);
    return box;
  }

  function pointMarker(p) {
    var icon = L.divIcon({
      className: "app-map-point app-map-point--" + p.status,
      iconSize: [18, 18],
      html: ""
    });
    var marker = L.marker([p.lat, p.lon], {
      icon: icon,
      title: "Signalement " + p.reference,
      alt: "Signalement " + p.reference,
      keyboard: true
    });
    marker.bindPopup(function () {
      return popupContent(p);
    });
    return marker;
  }

  function clusterMarker(c) {
    var size = c.count < 100 ? 36 : c.count < 1000 ? 44 : 54;
    var label = document.createElement("span");
    label.textContent = c.count.toLocaleString("fr-FR");
    var icon = L.divIcon({
      className: "app-map-cluster",
      iconSize: [size, size],
      html: label.outerHTML
    });
    var marker = L.marker([c.lat, c.lon], {
      icon: icon,
      title: c.count + " signalements : cliquer pour zoomer",
      keyboard: true
    });
    marker.on("click", function () {
      if (c.north - c.south < 1e-6 && c.east - c.west < 1e-6) {
        map.setView([c.lat, c.lon], Math.min(map.getZoom() + 3, 19));
      } else {
        map.fitBounds([[c.south, c.west], [c.north, c.east]], { padding: [40, 40] });
      }
    });
    return marker;
  }

  var current = null;
  function load() {
    var b = map.getBounds();
    var clamp = function (v, min, max) { return Math.max(min, Math.min(max, v)); };
    var bbox = [
      clamp(b.getWest(), -180, 180).toFixed(5),
      clamp(b.getSouth(), -90, 90).toFixed(5),
      clamp(b.getEast(), -180, 180).toFixed(5),
      clamp(b.getNorth(), -90, 90).toFixed(5)
    ].join(",");
    var url = element.dataset.endpoint + "&bbox=" + bbox + "&zoom=" + map.getZoom();
    if (current) {
      current.abort();
    }
    current = new AbortController();
    say("Chargement…");
    fetch(url, { signal: current.signal, credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (response) {
        return response.json().then(function (body) {
          if (!response.ok) {
            throw new Error(body.erreur || "Erreur " + response.status);
          }
          return body;
        });
      })
      .then(function (data) {
        points.clearLayers();
        clusters.clearLayers();
        if (data.mode === "points") {
          points.addLayers(data.points.map(pointMarker));
        } else {
          data.clusters.forEach(function (c) {
            clusters.addLayer(clusterMarker(c));
          });
        }
        var text = data.total.toLocaleString("fr-FR") + " signalement" + (data.total > 1 ? "s" : "") + " dans la zone affichée";
        if (data.mode === "clusters") {
          text += ", regroupés : zoomez ou cliquez sur un groupe pour les voir un par un";
        }
        if (data.truncated) {
          text += " (les " + data.points.length + " plus critiques sont affichés)";
        }
        element.dataset.mode = data.mode;
        say(text + ".");
      })
      .catch(function (error) {
        if (error.name !== "AbortError") {
          say("La carte n’a pas pu être chargée : " + error.message);
        }
      });
  }
  map.on("moveend", load);
  load();
})();
