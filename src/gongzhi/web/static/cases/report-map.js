/* The optional map on the "where" step: a tap puts the point into the form's hidden lat/lon.
   The page works without this script (the address alone is enough). Leaflet draws the map
   from vector data only, so no tile server is needed; a tile URL can be given in
   data-tiles where a deployment has one. */
(function () {
  "use strict";
  function init() {
    var box = document.getElementById("report-map");
    var lat = document.getElementById("lat");
    var lon = document.getElementById("lon");
    if (!box || !lat || !lon || typeof window.L === "undefined") return;
    box.hidden = false;
    box.setAttribute("role", "application");
    box.setAttribute("aria-label", box.dataset.label || "");
    var label = document.createElement("p");
    label.className = "hint";
    label.textContent = box.dataset.label || "";
    box.parentNode.insertBefore(label, box);
    var start = [30.638, 119.680]; // the county seat; a point already chosen wins
    var map = window.L.map(box, { zoomControl: true }).setView(start, 11);
    if (box.dataset.tiles) {
      window.L.tileLayer(box.dataset.tiles, { maxZoom: 18 }).addTo(map);
    }
    var marker = null;
    function place(latlng) {
      if (marker) marker.setLatLng(latlng);
      else marker = window.L.marker(latlng, { keyboard: true }).addTo(map);
      lat.value = latlng.lat.toFixed(6);
      lon.value = latlng.lng.toFixed(6);
      status.textContent = box.dataset.chosen || "";
    }
    var tools = document.createElement("p");
    tools.className = "map-tools";
    var status = document.createElement("span");
    status.setAttribute("aria-live", "polite");
    var clear = document.createElement("button");
    clear.type = "button";
    clear.className = "button button-secondary";
    clear.textContent = box.dataset.clear || "Clear";
    clear.addEventListener("click", function () {
      if (marker) { map.removeLayer(marker); marker = null; }
      lat.value = ""; lon.value = ""; status.textContent = "";
    });
    if (navigator.geolocation && box.dataset.locate) {
      // On a phone the quickest way to a point: the device's own position, on request.
      var locate = document.createElement("button");
      locate.type = "button";
      locate.className = "button button-secondary";
      locate.textContent = box.dataset.locate;
      locate.addEventListener("click", function () {
        navigator.geolocation.getCurrentPosition(function (pos) {
          var here = window.L.latLng(pos.coords.latitude, pos.coords.longitude);
          place(here);
          map.setView(here, 16);
        });
      });
      tools.appendChild(locate);
      tools.appendChild(document.createTextNode(" "));
    }
    tools.appendChild(clear);
    tools.appendChild(document.createTextNode(" "));
    tools.appendChild(status);
    box.parentNode.insertBefore(tools, box.nextSibling);
    if (lat.value && lon.value) {
      var ll = window.L.latLng(parseFloat(lat.value), parseFloat(lon.value));
      place(ll);
      map.setView(ll, 15);
    }
    map.on("click", function (e) { place(e.latlng); });
  }
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", init);
  else init();
})();
