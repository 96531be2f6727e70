{{- define "kafka.selector" -}}
app.kubernetes.io/name: {{ .Release.Name }}
{{- end }}
{{- define "kafka.voters" -}}
{{- $name := .Release.Name -}}
{{- $ns := .Release.Namespace -}}
{{- $voters := list -}}
{{- range $i := until (int .Values.replicas) -}}
{{- $voters = append $voters (printf "%d@%s-%d.%s-headless.%s.svc.cluster.local:9093" $i $name $i $name $ns) -}}
{{- end -}}
{{- join "," $voters -}}
{{- end }}
