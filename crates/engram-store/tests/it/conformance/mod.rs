//! The conformance suite: every function takes `&dyn Store` and states one behaviour. A
//! behaviour that is not here is not promised. `cases!` lists them all, so each backend's
//! test module runs exactly the same set.

pub mod events;
pub mod facts;
pub mod isolation;
pub mod items;
pub mod lifecycle;
pub mod packets;
pub mod races;
pub mod records;
pub mod retrieval;
pub mod state;
pub mod validation;
pub mod vectors;

/// Calls `$callback!($($args)*; module::case, ...)` with every conformance case.
macro_rules! cases {
    ($callback:ident, $($args:tt)*) => {
        $callback!($($args)*;
            events::appended_events_list_newest_first,
            events::bulk_append_is_all_or_nothing,
            events::long_batches_fail_whole_and_keep_their_order,
            events::duplicate_event_id_is_a_conflict,
            events::list_filters_by_time_and_kind,
            events::conversation_window_is_latest_messages_of_session,
            events::generated_ids_and_token_counts,
            events::event_sequences_name_a_listing_without_reading_it,
            events::fetch_sequences_follow_fetch_most_important_first_too,
            facts::new_value_supersedes_and_history_keeps_both,
            facts::same_value_refreshes_without_new_version,
            facts::shared_facts_reach_agent_and_tenant,
            facts::list_facts_includes_inactive_on_request,
            records::episodes_list_newest_first,
            records::procedure_upsert_replaces_and_keeps_use_count,
            records::insights_update_within_their_run_only,
            state::working_state_patches_merge_and_bump_version,
            state::stale_expected_version_is_a_conflict,
            state::concurrent_compare_and_set_loses_no_update,
            state::short_term_state_round_trips,
            races::one_of_rules_hold_under_concurrent_writers,
            isolation::tenants_and_users_never_see_each_other,
            isolation::query_syntax_in_text_cannot_widen_a_match,
            isolation::random_multi_tenant_reads_stay_in_scope,
            validation::bad_input_names_the_field_and_writes_nothing,
            validation::nul_is_refused_in_text_and_kept_in_json,
            validation::fact_history_checks_its_key,
            validation::procedure_applicability_is_limited_like_text,
            validation::time_arithmetic_at_the_ends_of_time_does_not_panic,
            validation::weights_are_bounded_and_scores_finite,
            validation::imports_are_checked_like_writes,
            validation::imports_keep_versions_and_one_active_fact_per_key,
            packets::same_now_gives_identical_packets,
            packets::budget_is_a_hard_limit_and_every_omission_is_explained,
            packets::rare_query_term_finds_its_fact,
            packets::responder_never_sees_unvalidated_insights,
            packets::expired_records_are_omitted_as_expired,
            packets::over_budget_items_degrade_before_dropping,
            packets::per_section_budget_is_respected,
            packets::section_budget_reason_holds_when_the_total_binds,
            packets::recall_brings_back_earlier_sessions,
            packets::recall_fills_the_budget_the_other_sections_leave,
            packets::recall_pool_grows_with_the_budget,
            packets::conversation_window_is_in_every_purpose,
            packets::conversation_window_keeps_write_order_within_a_millisecond,
            packets::policy_caps_and_time_window_are_explained,
            packets::working_state_comes_first,
            packets::xml_and_cl100k_render_exactly,
            packets::small_sections_read_whole_give_the_postings_path_packet,
            packets::a_changed_fact_says_what_it_replaced_and_outdates_turns,
            packets::a_turn_of_the_changes_millisecond_is_outdated_by_it,
            retrieval::vector_source_finds_what_words_miss,
            retrieval::without_query_embedding_vectors_change_nothing,
            retrieval::query_embedding_is_checked,
            retrieval::vector_source_is_bounded_by_policy,
            retrieval::fusion_weights_steer_relevance,
            retrieval::context_turns_come_with_their_recalled_event,
            retrieval::context_turns_are_the_sessions_neighbours,
            retrieval::session_support_lifts_turns_of_a_matching_session,
            retrieval::events_are_indexed_with_speaker_and_date,
            retrieval::a_vector_match_counts_for_an_aged_episode,
            lifecycle::purge_user_leaves_nothing_of_the_user,
            lifecycle::compacting_a_purge_keeps_every_other_user,
            lifecycle::integrity_check_finds_a_written_store_sound,
            lifecycle::export_import_round_trip_gives_identical_packets,
            lifecycle::sweep_deletes_expired_records_and_applies_retention,
            lifecycle::promoted_insight_becomes_a_fact_the_responder_uses,
            lifecycle::end_run_expires_insights_and_ends_working_state,
            lifecycle::consolidation_resumes_inside_a_millisecond,
            lifecycle::consolidating_500_turns_links_sources_and_costs_no_more,
            lifecycle::racing_consolidations_make_one_episode,
            lifecycle::forgetting_deletes_exactly_what_it_names,
            lifecycle::stats_count_states_and_packets_warn_past_guards,
            lifecycle::aged_episodes_need_stronger_cues,
            lifecycle::postings_without_terms_report_totals,
            lifecycle::extraction_sends_each_event_once_and_supersedes_through_upserts,
            lifecycle::bad_extractor_output_writes_nothing,
            items::items_round_trip_values_blobs_and_conflicts,
            items::item_queries_select_by_prefix_keys_ranges_and_filters,
            items::key_bounds_compare_bytes,
            items::items_expire_and_delete_by_query,
            items::items_list_with_their_children_in_one_read,
            items::sparse_filters_read_page_after_page,
            items::concurrent_first_writes_of_a_key_index_it_once,
            items::item_search_ranks_by_bm25_and_follows_every_change,
            items::item_ttls_refresh_and_namespaces_list,
            vectors::vectors_round_trip_on_every_kind,
            vectors::a_vector_of_another_length_is_refused_and_nothing_is_stored,
            vectors::invalid_vectors_are_refused,
            vectors::vector_reads_are_newest_first_bounded_and_in_scope,
            vectors::superseding_a_fact_moves_its_vector_row,
            vectors::deleting_forgetting_and_sweeping_remove_vector_rows,
            vectors::restoring_an_export_keeps_embeddings,
        );
    };
}
pub(crate) use cases;
