{{/* Names, labels and the shared TLS material. */}}

{{/* The chart name, or nameOverride. */}}
{{- define "modelward.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{/* The prefix of every resource name: fullnameOverride, or <release>-<name> unless the release
name already contains the chart name. */}}
{{- define "modelward.fullname" -}}
{{- if .Values.fullnameOverride -}}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- $name := include "modelward.name" . -}}
{{- if contains $name .Release.Name -}}
{{- .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}
{{- end -}}

{{/* Labels that select the operator's pods; never change them on upgrade. */}}
{{- define "modelward.selectorLabels" -}}
app.kubernetes.io/name: {{ include "modelward.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end -}}

{{/* Labels on every object the chart renders. */}}
{{- define "modelward.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{ include "modelward.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/component: admission-controller
app.kubernetes.io/part-of: modelward
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- end -}}

{{- define "modelward.serviceAccountName" -}}
{{- if .Values.serviceAccount.create -}}
{{- default (include "modelward.fullname" .) .Values.serviceAccount.name -}}
{{- else -}}
{{- .Values.serviceAccount.name -}}
{{- end -}}
{{- end -}}

{{- define "modelward.image" -}}
{{- $tag := default .Chart.AppVersion .Values.image.tag -}}
{{- if .Values.image.digest -}}
{{- printf "%s:%s@%s" .Values.image.repository $tag .Values.image.digest -}}
{{- else -}}
{{- printf "%s:%s" .Values.image.repository $tag -}}
{{- end -}}
{{- end -}}

{{- define "modelward.tlsSecretName" -}}
{{- printf "%s-tls" (include "modelward.fullname" .) -}}
{{- end -}}

{{/*
The webhook's CA and serving certificate, as YAML: ca.crt, tls.crt and tls.key base64-encoded
as in the Secret's data (so that a reused Secret round-trips byte for byte), and notAfter.

The Secret, the webhook's caBundle and the pods' checksum annotation must all see the same
certificate, but templates cannot share variables, and genCA gives a new CA on every call. So the
first template that asks computes it and caches it in .Values under a key no user value can have
(values.schema.json forbids unknown keys); later templates of the same render read the cache.

An existing Secret (an upgrade) is reused so that upgrades do not rotate the certificate, unless
it expires within 30 days or lacks the modelward.io/tls-not-after annotation this chart writes.
*/}}
{{- define "modelward.tls" -}}
{{- if not (hasKey .Values "__modelwardTLS") -}}
{{- $fullname := include "modelward.fullname" . -}}
{{- $secret := lookup "v1" "Secret" .Release.Namespace (include "modelward.tlsSecretName" .) -}}
{{- $tls := dict -}}
{{- if and $secret $secret.data $secret.metadata.annotations -}}
{{- $notAfter := get $secret.metadata.annotations "modelward.io/tls-not-after" -}}
{{- $renewBy := now | dateModify "+720h" | unixEpoch | int64 -}}
{{- if and $notAfter (index $secret.data "ca.crt") (index $secret.data "tls.crt") (index $secret.data "tls.key") -}}
{{- if gt (toDate "2006-01-02T15:04:05Z07:00" $notAfter | unixEpoch | int64) $renewBy -}}
{{- $tls = dict "ca.crt" (index $secret.data "ca.crt") "tls.crt" (index $secret.data "tls.crt") "tls.key" (index $secret.data "tls.key") "notAfter" $notAfter -}}
{{- end -}}
{{- end -}}
{{- end -}}
{{- if not $tls -}}
{{- $days := int .Values.tls.validityDays -}}
{{- $service := printf "%s.%s.svc" $fullname .Release.Namespace -}}
{{- $names := list $fullname (printf "%s.%s" $fullname .Release.Namespace) $service -}}
{{- $ca := genCA (printf "%s-ca" $fullname) $days -}}
{{- $cert := genSignedCert $service nil $names $days $ca -}}
{{- $notAfter := dateInZone "2006-01-02T15:04:05Z07:00" (now | dateModify (printf "+%dh" (mul $days 24))) "UTC" -}}
{{- $tls = dict "ca.crt" ($ca.Cert | b64enc) "tls.crt" ($cert.Cert | b64enc) "tls.key" ($cert.Key | b64enc) "notAfter" $notAfter -}}
{{- end -}}
{{- $_ := set .Values "__modelwardTLS" $tls -}}
{{- end -}}
{{- toYaml (get .Values "__modelwardTLS") -}}
{{- end -}}
