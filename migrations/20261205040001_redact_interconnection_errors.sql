-- Interconnection errors become categories and answers of partner systems
-- are no longer kept (issue 12). A partner URL is typed by an admin; when it
-- pointed at an internal service, older versions stored up to 2,000
-- characters of the answer and quoted it in error messages, and the
-- "Interconnexions" page showed both back (server-side request forgery with
-- read-back). This scrubs what they stored, with the same categories the
-- code now writes (src/integrations/mod.rs): "HTTP 500", "délai dépassé",
-- "connexion impossible", "réponse interrompue", "erreur de transport".
-- SMTP rows (the operator's own relay) are left as they are.

UPDATE interconnection_calls
SET response_excerpt = NULL
WHERE response_excerpt IS NOT NULL
  AND service IN ('webhook', 'zapier', 'esabora_schs', 'esabora_sish');

UPDATE interconnection_calls
SET error = CASE
        WHEN http_status IS NOT NULL THEN CONCAT('HTTP ', http_status)
        WHEN error LIKE 'délai dépassé%' THEN 'délai dépassé'
        WHEN error LIKE 'connexion impossible%' THEN 'connexion impossible'
        WHEN error LIKE 'réponse interrompue%' THEN 'réponse interrompue'
        ELSE 'erreur de transport'
    END
WHERE error IS NOT NULL AND service <> 'smtp';

-- Job errors: "<service> : HTTP 500 <answer>" keeps "<service> : HTTP 500";
-- "Esabora HTTP 400 WS_ERR_X <message>" and "Brevo HTTP 400 code : <message>"
-- keep the status and the code (one identifier); transport errors keep their
-- category; the rest (our own texts: "envoi incertain", "SMTP : ...") stays.
UPDATE outbox
SET last_error = CASE
        WHEN last_error REGEXP '^[^:]{1,60} : HTTP [0-9]{3}'
            THEN REGEXP_SUBSTR(last_error, '^[^:]{1,60} : HTTP [0-9]{3}')
        WHEN last_error REGEXP '^[^:]{1,60} HTTP [0-9]{3}'
            THEN TRIM(REGEXP_SUBSTR(last_error, '^[^:]{1,60}? HTTP [0-9]{3}( [A-Za-z0-9_.-]{1,40}(?=$| ))?'))
        WHEN last_error REGEXP '^[^:]{1,60} : (délai dépassé|connexion impossible|réponse interrompue|erreur de transport|réponse illisible)'
            THEN REGEXP_SUBSTR(last_error, '^[^:]{1,60} : (délai dépassé|connexion impossible|réponse interrompue|erreur de transport|réponse illisible)')
        WHEN last_error LIKE 'Zapier : statut %'
            THEN 'Zapier : statut autre que "success" dans la réponse'
        ELSE last_error
    END
WHERE last_error IS NOT NULL
  AND kind IN ('webhook', 'zapier_push', 'esabora_push', 'esabora_sync', 'send_email',
               'geocode_report', 'dpe_lookup');
